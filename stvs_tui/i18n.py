"""The one catalogue of the TUI's own words, in Chinese (default) and English.

Field labels and enum labels come from the schema (``field_label``, ``LabeledEnum.label``); everything
else a clerk reads in the TUI is here, keyed by a stable name. ``t(key, **values)`` formats the text
in the current language.
"""

from __future__ import annotations

import re
import string

from schema.enums import LabeledEnum

LANGUAGES = ("zh", "en")

CATALOGUE: dict[str, tuple[str, str]] = {
    # The application and Textual's own visible strings
    "app.title": ("科技志愿服务管理", "S&T volunteer service"),
    "app.palette_placeholder": ("搜索命令…", "Search for commands…"),
    "app.palette_no_matches": ("没有匹配的命令", "No matches found"),
    "app.quit_hint_title": ("要退出吗？", "Do you want to quit?"),
    "app.quit_hint": ("按 {key} 退出", "Press {key} to quit the app"),
    "app.error": ("出错了：{error}", "Something went wrong: {error}"),
    "app.saved": ("已保存", "Saved"),
    "app.loading": ("加载中…", "Loading…"),
    # Short footer labels (the footer must fit at 80 columns; F1 and the palette give the full names)
    "key.new": ("新建", "New"),
    "key.export": ("导出", "Export"),
    "key.certificate": ("证明", "Certificate"),
    "key.dissolve": ("解散", "Dissolve"),
    "key.add_members": ("加队员", "Add"),
    "key.member_role": ("职务", "Role"),
    "key.remove_member": ("移出", "Remove"),
    "key.start": ("开始", "Start"),
    "key.sign_up": ("报名", "Sign up"),
    "key.attended": ("出勤", "Attended"),
    "key.attendance": ("时长", "Hours"),
    "key.confirm_hours": ("确认", "Confirm"),
    "key.correct_hours": ("更正", "Correct"),
    "key.cancel_activity": ("取消", "Cancel"),
    "key.prev_month": ("上月", "Prev"),
    "key.next_month": ("下月", "Next"),
    "key.draft": ("草稿", "Draft"),
    "key.nil": ("无活动", "Nil"),
    "key.link": ("对接", "Link"),
    "key.close_demand": ("关闭", "Close"),
    "key.run_sync": ("同步", "Sync"),
    "key.drop_refused": ("放弃", "Drop"),
    "key.take_city": ("采用市级", "Take city"),
    "key.report": ("月报", "Report"),
    "key.volunteers": ("志愿者", "Volunteers"),
    "key.teams": ("队伍", "Teams"),
    "key.activities": ("活动", "Activities"),
    "key.restore": ("恢复", "Restore"),
    "key.month": ("月份", "Month"),
    "key.toggle": ("选择", "Select"),
    "key.check": ("检查", "Check"),
    "key.import": ("导入", "Import"),
    "key.import_valid": ("导入有效行", "Valid only"),
    # Actions (key bindings, F1 help, command palette)
    "action.help": ("帮助", "Help"),
    "action.palette": ("命令", "Commands"),
    "action.quit": ("退出", "Quit"),
    "action.dashboard": ("首页", "Dashboard"),
    "action.volunteers": ("志愿者", "Volunteers"),
    "action.teams": ("队伍", "Teams"),
    "action.activities": ("活动", "Activities"),
    "action.demands": ("供需对接", "Demands"),
    "action.report": ("月报", "Monthly report"),
    "action.sync": ("同步", "Sync"),
    "action.settings": ("设置", "Settings"),
    "action.back": ("返回", "Back"),
    "action.filter": ("筛选", "Filter"),
    "action.open": ("打开", "Open"),
    "action.new": ("新建", "New"),
    "action.edit": ("编辑", "Edit"),
    "action.save": ("保存", "Save"),
    "action.cancel_form": ("取消", "Cancel"),
    "action.goto_row": ("转到第几条", "Go to row"),
    "action.sort": ("按此列排序", "Sort by this column"),
    "action.close_menu": ("收起列表", "Close list"),
    "action.refresh": ("刷新", "Refresh"),
    "action.next_page": ("下一页", "Next page"),
    "action.prev_page": ("上一页", "Previous page"),
    "action.clear_filter": ("清除筛选", "Clear filter"),
    "action.new_volunteer": ("新建志愿者", "New volunteer"),
    "action.new_team": ("新建队伍", "New team"),
    "action.new_activity": ("新建活动", "New activity"),
    "action.new_demand": ("登记需求", "New demand"),
    "action.show_dissolved": ("已解散队伍", "Dissolved teams"),
    "action.restore_team": ("恢复队伍", "Restore team"),
    "action.dissolve_team": ("解散队伍", "Dissolve team"),
    "action.add_members": ("添加队员", "Add members"),
    "action.member_role": ("更改职务", "Change role"),
    "action.remove_member": ("移出队伍", "Remove member"),
    "action.commend": ("表彰", "Commend"),
    "action.publish": ("发布", "Publish"),
    "action.start": ("开始活动", "Start"),
    "action.sign_up": ("报名", "Sign up volunteers"),
    "action.attendance": ("出勤/时长", "Attendance & hours"),
    "action.toggle_attended": ("切换出勤", "Toggle attended"),
    "action.confirm_hours": ("确认时长", "Confirm hours"),
    "action.correct_hours": ("更正时长", "Correct hours"),
    "action.complete": ("结项", "Complete"),
    "action.cancel_activity": ("取消活动", "Cancel activity"),
    "action.link_activity": ("对接活动", "Link activity"),
    "action.close_demand": ("关闭需求", "Close demand"),
    "action.prev_month": ("上个月", "Previous month"),
    "action.next_month": ("下个月", "Next month"),
    "action.nil_report": ("本月无活动", "Nil report"),
    "action.submit_report": ("报送", "Submit"),
    "action.toggle": ("选择/取消", "Select / unselect"),
    "action.done": ("完成", "Done"),
    "action.demo": ("演示数据", "Demo data"),
    "action.run_sync": ("开始同步", "Sync now"),
    "action.drop_refused": ("放弃被拒批次", "Drop refused batches"),
    "action.take_city": ("采用市里的记录", "Take the city's rows"),
    # Confirm modal
    "confirm.yes": ("是", "Yes"),
    "confirm.no": ("否", "No"),
    "confirm.dissolve_team_members": ("队伍“{name}”还有 {count} 名队员。解散后队伍不再计入统计，队员仍显示所在队伍（已解散），可用 Ctrl+G 恢复。确定解散吗？",
                                      "The team “{name}” still has {count} members. Dissolved, it no longer counts in the "
                                      "figures; its members show it as dissolved, and Ctrl+G restores it. Dissolve it?"),
    "confirm.restore_team": ("恢复队伍“{name}”吗？", "Restore the team “{name}”?"),
    "confirm.dissolve_team": ("确定解散队伍“{name}”吗？解散后不再计入统计。",
                              "Dissolve the team “{name}”? It will no longer count in the figures."),
    "confirm.cancel_activity": ("确定取消活动“{name}”吗？取消后不能恢复。",
                                "Cancel the activity “{name}”? This cannot be undone."),
    "confirm.remove_member": ("确定将“{name}”移出本队吗？", "Remove “{name}” from this team?"),
    "confirm.confirm_hours": ("确认 {count} 人的出勤和服务时长（共 {hours} 小时）吗？确认后修改需另行追加记录。",
                              "Confirm attendance and hours of {count} people ({hours} h in all)? "
                              "Later corrections are appended."),
    "confirm.complete": ("确定结项活动“{name}”吗？", "Complete the activity “{name}”?"),
    "confirm.submit_report": ("确定报送 {period} 月报吗？", "Submit the report for {period}?"),
    "confirm.close_demand": ("确定关闭该需求吗？", "Close this demand?"),
    "confirm.hours_over_duration": ("{name} 的 {hours} 小时超过活动时长 {planned} 小时，确定记录吗？",
                                    "{name}: {hours} hours is more than the activity's {planned} hours. Record it?"),
    "confirm.discard": ("放弃未保存的修改吗？", "Discard unsaved changes?"),
    "confirm.leave_unsaved": ("有未保存的输入，放弃并离开吗？", "There is unsaved input. Discard it and leave?"),
    "confirm.quit_unsaved": ("有未保存的输入，放弃并退出吗？", "There is unsaved input. Discard it and quit?"),
    # Dates typed into the store by hand that cannot be read back (stvs_tui.widgets.repair)
    "repair.title": ("数据中有 {count} 处无效日期", "{count} dates in the store cannot be read"),
    "repair.intro": ("下列日期不是有效日期（可能有人在数据库中直接改过），含有它们的记录和列表打不开。请逐一改正"
                     "（可不填的项可以清空），按 Ctrl+S 保存，改正随下次同步上报。",
                     "These dates are not valid (the store was probably edited by hand), and the records and lists "
                     "holding them cannot open. Correct each (clear it where the field may be empty) and press "
                     "Ctrl+S; the corrections go with the next sync."),
    "repair.item": ("{where}：“{value}”", "{where}: “{value}”"),
    "repair.first": ("这里先列出前 {shown} 处，保存后再列出其余的。", " The first {shown} are here; the rest follow once saved."),
    "repair.later": ("暂不处理", "Later"),
    "repair.saved": ("已改正 {count} 处日期", "{count} dates corrected"),
    # Forms
    "form.errors": ("请先改正标红的字段", "Please correct the fields marked in red"),
    "form.new_volunteer": ("新建志愿者", "New volunteer"),
    "form.edit_volunteer": ("编辑志愿者", "Edit volunteer"),
    "form.new_team": ("新建队伍", "New team"),
    "form.edit_team": ("编辑队伍", "Edit team"),
    "form.new_activity": ("新建活动", "New activity"),
    "form.edit_activity": ("编辑活动", "Edit activity"),
    "form.new_demand": ("登记需求", "New demand"),
    "form.commend": ("表彰志愿者", "Commend volunteer"),
    "form.participation": ("出勤与时长：{name}", "Attendance and hours: {name}"),
    "form.hours_correction": ("更正已确认时长：{name}", "Correct confirmed hours: {name}"),
    "form.complete": ("活动结项", "Complete the activity"),
    "form.none": ("（无）", "(none)"),
    "form.date_hint": ("年-月-日", "YYYY-MM-DD"),
    "form.datetime_hint": ("年-月-日 时:分", "YYYY-MM-DD HH:MM"),
    "form.yes": ("是", "yes"),
    "form.no": ("否", "no"),
    "form.unknown": ("未填", "not given"),
    "form.memberships_limit": ("该志愿者已属于 {count} 个组织，平台规定最多 {limit} 个",
                               "This volunteer already belongs to {count} organisations; the platform allows {limit}"),
    # Setup
    "setup.title": ("首次使用：设置本县", "First run: set up this county"),
    "setup.intro": ("请选择本单位所在的县（市、区），并填写填报人姓名。",
                    "Choose the county (district) this office serves and enter the clerk's name."),
    "setup.county": ("县（市、区）", "County / district"),
    "setup.clerk": ("填报人", "Clerk"),
    "setup.pick_county": ("请选择县区", "Please choose a county"),
    "setup.start": ("开始使用", "Start"),
    "setup.demo_hint": ("按 Ctrl+D 载入演示数据（未选县区时为安阳县）", "Press Ctrl+D to load demo data (安阳县 unless a county is chosen)"),
    "setup.demo_loaded": ("已载入演示数据", "Demo data loaded"),
    # Dashboard
    "dash.title": ("首页", "Dashboard"),
    "dash.header": ("{county}  填报人：{clerk}  本月：{period}", "{county}  clerk: {clerk}  month: {period}"),
    "dash.no_clerk": ("未填写（F9 设置）", "not set (F9 Settings)"),
    "dash.figures": ("概况", "Figures"),
    "dash.teams_title": ("队伍本月情况", "Teams this month"),
    "dash.teams_by_tier": ("{tier}：{count} 支，其中 {short} 支不足 {minimum} 人",
                           "{tier}: {count}, {short} below {minimum} members"),
    "dash.short_teams": ("不足最低人数的队伍：{count} 支", "Teams below the minimum size: {count}"),
    "dash.volunteers": ("志愿者：{count} 人", "Volunteers: {count}"),
    "dash.san_zhang": ("三长：{count} 人", "Three heads (school, station, hospital): {count}"),
    "dash.experts": ("科技专家：{count} 人", "Experts: {count}"),
    "dash.rural": ("乡土科技人才：{count} 人", "Rural talents: {count}"),
    "dash.activities": ("本月活动：{count} 次", "Activities this month: {count}"),
    "dash.idle_teams": ("本月无活动的队伍：{count} 支", "Teams without an activity this month: {count}"),
    "dash.report": ("{period} 月报：{status}", "Report {period}: {status}"),
    "dash.report_missing": ("未填报", "not started"),
    "dash.sync_pending": ("未同步更改：{count} 条", "Unsynced changes: {count}"),
    "dash.sync_offer": ("（F8 同步）", " (F8 syncs)"),
    "dash.sync_last": ("上次同步：{when}", "Last sync: {when}"),
    "dash.sync_never": ("从未同步", "never"),
    "sync.resolved": ("冲突已由市科协处理（{by}，{date}）：{reason}", "Conflict settled by the city ({by}, {date}): {reason}"),
    "sync.resolved_values": ("采用：{values}", "Taken: {values}"),
    "dash.conflicts": ("待处理冲突：{count} 条", "Conflicts waiting: {count}"),
    "dash.col_team": ("队伍", "Team"),
    "dash.col_tier": ("层级", "Tier"),
    "dash.col_members": ("人数/最低", "Members/min"),
    "dash.col_san_zhang": ("三长", "Heads"),
    "dash.col_experts": ("专家", "Experts"),
    "dash.col_rural": ("乡土", "Rural"),
    "dash.col_activities": ("本月活动", "This month"),
    "dash.col_flags": ("提示", "Flags"),
    "dash.flag_short": ("人数不足", "too few"),
    "dash.flag_idle": ("本月无活动", "no activity"),
    # Lists
    "list.filter_placeholder": ("筛选：姓名、手机、证件号片段", "Filter: name, mobile, ID fragment"),
    "list.team_placeholder": ("队伍名称", "Team name"),
    "list.all_tags": ("全部类别", "All tags"),
    "list.count": ("共 {total} 条，第 {first}–{last} 条", "{total} in all, showing {first}–{last}"),
    "list.count_unknown": ("第 {first}–{last} 条", "showing {first}–{last}"),
    "list.empty": ("没有记录", "No records"),
    "list.position": ("共 {total} 条，第 {row} 条", "{total} in all, row {row}"),
    "list.position_unknown": ("第 {row} 条（正在计数）", "row {row} (counting)"),
    "list.not_sortable": ("此列不能排序", "This column cannot be sorted"),
    "list.goto_prompt": ("转到第几条（共 {rows} 条）：", "Go to row (of {rows}):"),
    "list.goto_bad": ("请输入 1 到 {rows} 之间的数字", "Type a number from 1 to {rows}"),
    "list.scope": ("筛选：{scope}", "Filter: {scope}"),
    # Volunteers
    "vol.title": ("志愿者", "Volunteers"),
    "vol.col_stars": ("星级", "Stars"),
    "vol.tag_san_zhang": ("三长", "Three heads"),
    "vol.col_teams": ("所在队伍", "Teams"),
    "vol.detail_title": ("志愿者：{name}", "Volunteer: {name}"),
    "vol.hours": ("服务时长：{hours} 小时  星级：{stars}", "Service hours: {hours} h  stars: {stars}"),
    "vol.memberships": ("所在队伍（{count}/{limit}）", "Teams ({count}/{limit})"),
    "vol.commendations": ("表彰记录", "Commendations"),
    "vol.services": ("服务记录", "Service record"),
    "vol.tag_filter": ("类别：{tag}", "tag: {tag}"),
    # Teams
    "team.title": ("队伍", "Teams"),
    "team.detail_title": ("队伍：{name}", "Team: {name}"),
    "team.members": ("队员（{count} 人，最低 {minimum} 人）", "Members ({count}, minimum {minimum})"),
    "team.info": ("{tier}  依托单位：{host}  负责人：{leader}", "{tier}  host: {host}  leader: {leader}"),
    "team.stvs": ("平台注册：{status} {date}  组织编号：{org}  备案日期：{filed}",
                  "STVS: {status} {date}  org no.: {org}  filed: {filed}"),
    "team.only_short": ("不足最低人数", "below minimum size"),
    "team.only_idle": ("本月无活动", "no activity this month"),
    "team.dissolved": ("已解散队伍“{name}”", "Dissolved “{name}”"),
    "team.legend": ("人数/最低（红：不足） ⚑ 本月无活动", "members/minimum (red: short) ⚑ no activity this month"),
    "team.restored": ("已恢复队伍“{name}”", "Restored “{name}”"),
    "team.only_dissolved": ("已解散的队伍（Ctrl+L 返回）", "dissolved teams (Ctrl+L goes back)"),
    "team.already_dissolved": ("该队伍已解散；Ctrl+G 可恢复", "This team is dissolved; Ctrl+G restores it"),
    "team.restore_hint": ("只有已解散的队伍可以恢复：Ctrl+L 列出已解散的队伍",
                          "Only a dissolved team can be restored: Ctrl+L lists them"),
    "team.added": ("已添加 {count} 名队员", "Added {count} members"),
    "team.pick_members": ("选择要加入“{name}”的志愿者", "Choose volunteers to add to “{name}”"),
    "team.already_member": ("已在队中", "already a member"),
    # Activities
    "act.title": ("活动", "Activities"),
    "act.detail_title": ("活动：{name}", "Activity: {name}"),
    "act.info": ("{team}  {kind}  {venue}  {start} – {end}  {place}", "{team}  {kind}  {venue}  {start} – {end}  {place}"),
    "act.status": ("状态：{status}  报名 {signed} 人  出勤 {attended} 人  时长合计 {hours} 小时",
                   "Status: {status}  signed up {signed}  attended {attended}  hours {hours}"),
    "act.participants": ("报名与出勤", "Sign-ups and attendance"),
    "act.col_attended": ("出勤", "Attended"),
    "act.col_confirmed": ("已确认", "Confirmed"),
    "act.wrong_status": ("当前状态“{status}”下不能{action}", "Cannot {action} while the activity is “{status}”"),
    "act.pick_volunteers": ("选择报名“{name}”的志愿者", "Choose volunteers to sign up for “{name}”"),
    "act.signed_up": ("已报名 {count} 人", "Signed up {count}"),
    "act.already_signed": ("已报名", "already signed up"),
    "act.hours_confirmed": ("已确认 {count} 人的时长", "Hours confirmed for {count}"),
    "act.nothing_to_confirm": ("没有待确认的出勤记录", "No attendance waiting for confirmation"),
    "act.unconfirmed_left": ("还有未确认时长的出勤记录，请先确认时长", "Confirm the hours of everyone who attended first"),
    "act.month_scope": ("{period} 的活动", "activities in {period}"),
    "act.team_scope": ("队伍“{name}”的活动", "activities of “{name}”"),
    # Demands
    "dem.title": ("供需对接", "Demands"),
    "dem.linked": ("已对接活动“{name}”", "Linked to “{name}”"),
    "dem.pick_activity": ("选择对接的活动", "Choose the activity that answers this demand"),
    # Monthly report
    "rep.title": ("月报", "Monthly report"),
    "rep.period": ("报告月份：{period}  状态：{status}", "Period: {period}  status: {status}"),
    "rep.not_saved": ("未保存", "not saved"),
    "rep.not_accepted": ("已报送（市级未接收，原因见 F8）", "submitted (not accepted by the city: F8 says why)"),
    "rep.waiting_sync": ("已报送（待同步，F8）", "submitted (waiting to sync, F8)"),
    "rep.delivered": ("已送达市级（{when} 同步确认）", "delivered to the city (confirmed by the sync of {when})"),
    "rep.delivered_untimed": ("已送达市级", "delivered to the city"),
    "rep.nil": ("本月无活动（零报告）", "Nil report (no activity this month)"),
    "rep.submitted": ("已报送 {period} 月报", "Submitted the report for {period}"),
    "rep.nil_not_allowed": ("本月有活动记录，不能报“本月无活动”", "This month has activities: it cannot be a nil report"),
    "rep.locked": ("该月报已报送，不能修改", "This report is submitted and cannot be changed"),
    "rep.period_locked": ("该月已过锁定期，须由市科协重新开放后才能填报", "This month is locked: only the city can reopen it"),
    "rep.highlights": ("工作亮点", "Highlights"),
    "rep.section_kind": ("按服务类别", "By service kind"),
    "rep.section_venue": ("按服务场所", "By venue"),
    "rep.col_item": ("项目", "Item"),
    "rep.col_value": ("数值", "Value"),
    "rep.saved": ("已保存 {period} 月报草稿", "Saved the draft for {period}"),
    "rep.save_draft": ("保存草稿", "Save draft"),
    # Settings
    "set.title": ("设置", "Settings"),
    "set.county": ("县（市、区）", "County"),
    "set.county_fixed": ("本地数据库已属于该县，不能更改", "This store belongs to this county and cannot change"),
    "set.clerk": ("填报人", "Clerk"),
    "set.server_url": ("市级服务器地址", "City server URL"),
    "set.token": ("同步令牌", "Sync token"),
    "set.language": ("界面语言", "Language"),
    "set.saved": ("设置已保存", "Settings saved"),
    "set.bad_url": ("地址应以 http:// 或 https:// 开头", "The URL must start with http:// or https://"),
    # Sync
    "doctor.title": ("同步诊断", "Sync doctor"),
    "doctor.none": ("没有卡住的同步项目", "Nothing is stuck"),
    "doctor.count": ("卡住的同步项目：{count} 项", "Stuck: {count}"),
    "doctor.more": ("……另有 {count} 项（stvs-tui sync doctor 列出全部）", "… {count} more (stvs-tui sync doctor lists all)"),
    "doctor.server_checked": ("已向市服务器核对本县待处理的冲突", "The county's open conflicts were checked with the city server"),
    "doctor.server_not_set": ("未设置市服务器或令牌：只列出本机所见", "No city server or token set: this computer's view only"),
    "doctor.server_offline": ("未连接市服务器：只列出本机所见", "Offline: this computer's view only"),
    "doctor.server_unreachable": ("未能连接市服务器，只列出本机所见：{error}",
                                  "The city server could not be asked, this computer's view only: {error}"),
    "doctor.kind.outbox": ("待发送批次", "Outbox batch"),
    "doctor.kind.quarantined": ("暂存未写入", "Quarantined"),
    "doctor.kind.rejected": ("被拒绝", "Rejected"),
    "doctor.kind.conflict": ("冲突", "Conflict"),
    "doctor.action.resend": ("下次同步时重新发送", "The next sync sends it again"),
    "doctor.action.drop_batch": ("放弃此批次，其中的更改在下次同步时重新打包发送",
                                 "Drop the batch; its changes go again in new batches with the next sync"),
    "doctor.action.refetch": ("下次同步会向市里重新获取它引用的记录，再写入",
                              "The next sync asks the city again for the rows it refers to, then writes it"),
    "doctor.action.take_city": ("以市里的记录为准：删除占用同一键的本地记录",
                                "Take the city's record: the local row holding the same key is removed"),
    "doctor.action.correct_record": ("按原因修改该记录，再同步", "Correct the record as the reason says, then sync"),
    "doctor.action.city_corrects": ("市里的这条记录有无效的值（可能有人直接改过市里的数据库）：请市科协改正，改正后下次同步自动写入",
                                    "The city's record holds a value that is not valid (its database was probably "
                                    "edited by hand): the city corrects it, and the next sync writes it"),
    "doctor.action.await_city": ("等待市科协处理冲突，下次同步带回结果",
                                 "The city decides; the next sync brings the decision"),
    "doctor.item": ("【{kind}】{table} {id}：{reason} {detail}", "[{kind}] {table} {id}: {reason} {detail}"),
    "doctor.how": ("    处理：{action}{command}", "    To clear: {action}{command}"),
    "doctor.dropped": ("已放弃批次 {batch}（{changes} 条更改将重新发送）", "Dropped batch {batch} ({changes} changes will be sent again)"),
    "doctor.no_batch": ("没有这个待发送批次：{batch}", "No such outbox batch: {batch}"),
    "doctor.took_city": ("已删除本地记录 {ids}，并写入市里的记录", "Removed local rows {ids} and wrote the city's record"),
    "doctor.confirm_drop": ("放弃 {count} 个被服务器拒绝的批次？其中的更改仍在待上传列表中，下次同步重新打包发送。",
                            "Drop {count} batches the server refused? Their changes stay queued and go in new "
                            "batches with the next sync."),
    "doctor.confirm_take_city": ("为 {count} 条暂存记录采用市里的版本？占用同一键的本地记录将被删除（删除会同步到市里）。",
                                 "Take the city's version of {count} quarantined rows? The local rows holding "
                                 "the same key are deleted (the deletion goes to the city)."),
    "doctor.nothing_refused": ("没有被拒绝的批次", "No refused batch"),
    "doctor.nothing_to_take": ("没有因唯一键暂存的记录", "No row is quarantined on a unique key"),
    "doctor.not_held": ("暂存中没有这条记录：{key}", "Not in the quarantine: {key}"),
    "sync.title": ("同步", "Sync"),
    "sync.no_server": ("请先在设置中填写市级服务器地址和令牌", "Set the city server URL and token in Settings first"),
    "sync.running": ("正在同步…", "Syncing…"),
    "sync.done": ("同步完成", "Sync finished"),
    "sync.failed": ("同步失败：{error}", "Sync failed: {error}"),
    "sync.errors": ("同步错误：{count} 条", "Sync errors: {count}"),
    "sync.progress": ("{phase}：{done}{total}", "{phase}: {done}{total}"),
    "sync.clock_off": ("本机时钟与市服务器相差 {skew}，请校正本机时间；本次同步按服务器时间记录",
                       "This computer's clock is {skew} off the city server's: please set it right; this sync "
                       "stamped its changes by the server's time"),
    "sync.clock_reset": ("本机曾记下未来的时间（{when}），已回到服务器时间",
                         "A time in the future ({when}) left by a wrong clock was brought back to the server's time"),
    "sync.summary": ("上传 {pushed} 条（已应用 {applied}，已合并 {merged}，冲突 {conflicts}，被拒绝 {rejected}），"
                     "下载 {pulled} 条，校验 {digest}，用时 {seconds} 秒",
                     "Pushed {pushed} (applied {applied}, merged {merged}, conflicts {conflicts}, rejected {rejected}), "
                     "pulled {pulled}, digest {digest}, {seconds} s"),
    # Help
    "help.title": ("帮助：{screen}", "Help: {screen}"),
    "help.keys": ("按键", "Keys"),
    "help.key": ("键", "Key"),
    "help.action": ("功能", "Action"),
    "help.general": (
        "方向键移动，回车打开，Esc 返回，/ 筛选，Ctrl+P 打开命令面板（列出全部功能）。"
        "中文输入法开启时字母键会进入输入法，请使用 F 键或 Ctrl 组合键。",
        "Arrows move, Enter opens, Esc goes back, / filters, Ctrl+P opens the command palette (every action). "
        "Letters go to the input method when it is on: use the F-keys or Ctrl combinations.",
    ),
    "help.close": ("按 Esc 或 F1 关闭", "Esc or F1 closes"),
    # Added columns and per-screen help
    "act.hours_over_cap": ("超过每天 24 小时：本活动每人最多 {cap} 小时", "More than 24 hours a day: at most {cap} hours at this activity"),
    "act.hours_reason_needed": ("超过活动时长 {planned} 小时，请在服务评价中写明原因",
                                "More than the activity's {planned} hours: give the reason under Evaluation"),
    "act.already_confirmed": ("该记录的时长已确认，更正需另行追加记录", "These hours are confirmed; corrections are appended"),
    "act.not_confirmed_yet": ("时长尚未确认，可直接修改（回车）", "Hours not confirmed yet: edit them directly (Enter)"),
    "act.hours_corrected": ("已追加时长更正：{old} → {new} 小时", "Correction appended: {old} → {new} h"),
    "vol.corrections": ("时长更正记录", "Hours corrections"),
    "act.col_date": ("日期", "Date"),
    "act.col_hours": ("时长(小时)", "Hours"),
    "act.col_signed": ("报名人数", "Signed up"),
    "act.col_title": ("活动", "Activity"),
    "act.filter_placeholder": ("筛选：活动名称、地点", "Filter: title, place"),
    "dem.filter_placeholder": ("筛选：需求单位、需求内容", "Filter: requesting unit, need"),
    "form.edit_demand": ("编辑需求", "Edit demand"),
    "team.col_role": ("职务", "Role"),
    "vol.duplicate_id": ("本县已有该证件号码的志愿者", "A volunteer with this ID number is already registered here"),
    "dash.trend_title": ("近12个月（{first} 至 {last}）", "Last 12 months ({first} to {last})"),
    "dash.chart_activities": ("活动次数", "Activities"),
    "dash.chart_hours": ("确认时长", "Hours"),
    "dash.chart_teams": ("队伍活动", "Teams"),
    "dash.chart_activities_sum": ("共 {total} 次，本月 {month} 次", "{total} in all, {month} this month"),
    "dash.chart_hours_sum": ("共 {total} 小时，本月 {month}", "{total} h in all, {month} this month"),
    "dash.chart_teams_sum": ("本月有活动 {good} 支，无活动 {bad} 支", "{good} active this month, {bad} not"),
    "help.dashboard": ("本县概况：队伍人数是否达到最低要求（大队30人、队10人），三长、专家、乡土人才人数，本月活动，月报与同步状态。"
                       "在任一数字上按回车打开其后的列表；在队伍表上按回车打开该队。",
                       "The county at a glance: team sizes against the minimums (brigade 30, team 10), the three heads, experts "
                       "and rural talents, this month's activities, the monthly report and sync. Enter on a figure opens "
                       "the list behind it; Enter on a team opens that team."),
    "help.volunteers": ("志愿者名册。在筛选框输入姓名、手机号或证件号片段，也可按类别、队伍筛选；列表中的证件号已脱敏。"
                        "列表是全部结果：PageDown/PageUp 翻一屏，Ctrl+Home/Ctrl+End 到第一条/最后一条，Ctrl+G 转到第几条；"
                        "←/→ 选列，Ctrl+S 按该列升序、降序、恢复默认顺序（列名后的 ▲/▼ 表示排序），也可点击列名。",
                        "The roster. Type a name, mobile or ID fragment in the filter, or filter by tag or team; ID "
                        "numbers are masked. The list is every match: PageDown/PageUp move a screenful, "
                        "Ctrl+Home/Ctrl+End go to the first/last row, Ctrl+G to a row number; ←/→ choose a column, "
                        "Ctrl+S sorts by it ascending, descending, then back to the default order (▲/▼ after the "
                        "column's name), as does a click on the header."),
    "help.volunteer": ("志愿者档案：所在队伍（平台规定最多5个组织）、服务记录、服务时长与星级、表彰记录。",
                       "A volunteer's record: teams (at most 5 organisations on the platform), service record, "
                       "hours and stars, commendations."),
    "help.teams": ("按层级列出队伍，人数不足最低要求的显示为红色，本月无活动的标有 ⚑。右侧为所选队伍的信息和队员。",
                   "Teams by tier; red when below the minimum size, ⚑ when no activity this month. The right side "
                   "shows the selected team and its members."),
    "help.activities": ("活动列表，按开始时间倒序（←/→ 选列，Ctrl+S 按该列排序；Ctrl+G 转到第几条）。"
                        "回车打开活动，在活动中完成发布、报名、出勤与时长、确认、结项。",
                        "Activities, newest first (←/→ choose a column, Ctrl+S sorts by it; Ctrl+G goes to a row). "
                        "Enter opens one: publish, sign up, attendance and hours, confirm, complete."),
    "help.activity": ("流程：草稿 → 发布 → 报名 → 开始 → 出勤与时长（默认为活动时长，可修改）→ 确认时长 → 结项（宣传报道、受益人数）。",
                      "Workflow: draft → publish → sign up → start → attendance and hours (the activity's duration by "
                      "default, editable) → confirm hours → complete (publicity summary, beneficiaries)."),
    "help.demands": ("基层单位提出的服务需求，可对接到回应它的活动。", "Needs filed by grassroots units, linked to the activity that answers them."),
    "help.report": ("月报数据由本月记录自动计算。本月没有开展活动时可报“本月无活动”（零报告）。报送后该月锁定。",
                    "The figures are computed from the month's records. With no activity held, file a nil report. "
                    "A submitted month is locked."),
    "help.settings": ("本机设置：填报人、市级服务器地址与同步令牌、界面语言。县区在首次使用时确定。",
                      "This device: clerk, city server and sync token, language. The county is fixed at first run."),
    "help.sync": ("未上传的更改、上次同步时间和待处理的冲突；下方的同步诊断列出卡住的项目、原因和处理办法。",
                  "Changes waiting to go up, the last sync and conflicts waiting; below, the sync doctor lists "
                  "whatever is stuck, why, and what clears it."),
    "stars.none": ("—", "—"),
    # City admin (stvs-tui city)
    "city.tab_uploads": ("上传记录", "Uploads"),
    "city.tab_queue": ("冲突队列", "Conflict queue"),
    "city.tab_reports": ("市级报表", "City reports"),
    "city.filter_county": ("县区代码", "County code"),
    "city.table_all": ("全部表", "All tables"),
    "city.col_time": ("时间", "Time"),
    "city.col_county": ("县（市、区）", "County"),
    "city.col_device": ("设备", "Device"),
    "city.col_changes": ("修改", "Changes"),
    "city.col_applied": ("已应用", "Applied"),
    "city.col_merged": ("已合并", "Merged"),
    "city.col_conflicts": ("冲突", "Conflicts"),
    "city.col_rejected": ("拒绝", "Rejected"),
    "city.col_table": ("表", "Table"),
    "city.col_record": ("记录", "Record"),
    "city.col_status": ("结果", "Result"),
    "city.col_reason": ("原因", "Reason"),
    "city.col_kind": ("类型", "Kind"),
    "city.col_fields": ("字段", "Fields"),
    "city.col_subject": ("对象", "About"),
    "city.col_field": ("字段", "Field"),
    "city.col_base": ("原值", "Base"),
    # The "city" side is whatever reached the server first (another device's upload, or a city decision).
    "city.col_city": ("服务器现值（先上传）", "On the server (uploaded first)"),
    "city.col_county_value": ("本次上传（设备 {device}）", "This upload (device {device})"),
    "city.col_first": ("先登记", "Registered first"),
    "city.col_later": ("后登记", "Registered later"),
    "city.col_choice": ("采用", "Take"),
    "city.col_completeness": ("完整率", "Completeness"),
    "city.col_timeliness": ("及时率", "Timeliness"),
    "city.total": ("完整率", "Completeness"),
    "city.bundle": ("同步包", "bundle"),
    "city.connect": ("更换服务器/令牌", "Change server / token"),
    "city.connect_title": ("市级服务器地址与管理员令牌（服务器接受后才保存）",
                           "City server address and admin token (saved only once the server accepts it)"),
    "city.connect_missing": ("请填写服务器地址和令牌", "Give the server address and the token"),
    "city.connected": ("已连接 {url}", "Connected to {url}"),
    "city.signin": ("登录", "Sign in"),
    "app.not_saved": ("未保存，已填写的内容仍在表单中", "Nothing was saved; what was typed is still in the form"),
    "city.signin_title": ("市科协管理：请输入管理员令牌（仅本次会话使用，不保存）",
                          "City admin: give the admin token (for this session only, never saved)"),
    "city.signin_server": ("市级服务器地址", "City server address"),
    "city.signin_token": ("管理员令牌", "Admin token"),
    "city.help_signin": ("填写服务器地址和管理员令牌后回车或 Ctrl+S 登录；服务器接受后进入管理界面。令牌不保存，"
                         "也不会出现在网址里。Ctrl+Q 退出。",
                         "Give the server address and the admin token, then Enter or Ctrl+S; the tabs open once "
                         "the server accepts the token. The token is not saved and never appears in a URL. "
                         "Ctrl+Q quits."),
    "city.locked_mark": ("（已锁定）", " (locked)"),
    "city.mark_on_time": ("√", "√"),
    "city.mark_late": ("逾期", "late"),
    "city.mark_missing": ("未报", "missing"),
    "city.mark_pending": ("待报", "pending"),
    "city.mark_not_due": ("-", "-"),
    "city.mark_nil": ("（零报告）", " (nil)"),
    "city.legend": ("√ 按时报送　逾期 截止日后收到　未报 过截止日未收到　待报 本月或截止日前未收到（计入应报）　"
                    "- 未开始　零报告 本月无活动　已锁定 不可再改。完整率 = 实报 ÷ 应报，及时率 = 按时报 ÷ 应报。",
                    "√ on time · late: received after the due day · missing: not received by the due day · "
                    "pending: not received yet, month in progress or before the due day (counts as expected) · "
                    "- not begun · nil: no activity that month · locked: no more edits. Completeness = received "
                    "÷ expected, timeliness = on time ÷ expected."),
    "city.select": ("选择", "Select"),
    "city.bulk_county": ("批量采用县级", "Take county (bulk)"),
    "city.bulk_city": ("批量采用市级", "Take city (bulk)"),
    "city.export": ("导出Excel", "Export to Excel"),
    "city.lock": ("锁定该月", "Lock the month"),
    "city.reopen": ("重新开放该月", "Reopen the month"),
    "city.tab_key": ("{key} {tab}", "{key} {tab}"),
    "city.next_tab": ("下一页签", "Next tab"),
    "city.prev_tab": ("上一页签", "Previous tab"),
    "city.no_target": ("请先把光标移到某县区某月份的格子上", "Move the cursor onto one county's month first"),
    "city.cancelled": ("已取消，未作处理", "Cancelled: nothing was decided"),
    "city.bulk_failed": ("未处理 {count} 项：{reasons}", "Not resolved: {count} {count:plural:item:items}: {reasons}"),
    "city.yes": ("是", "yes"),
    "city.close_menu": ("关闭菜单", "Close menu"),
    "city.no": ("否", "no"),
    "city.cycle": ("切换采用", "Switch side"),
    "city.loaded": ("待处理 {conflicts} 项，上传 {uploads} 次",
                    "{conflicts} open {conflicts:plural:item:items}, {uploads} {uploads:plural:upload:uploads}"),
    "city.confirm_bulk_county": ("对 {count} 项全部采用县级数值？",
                                 "Take the county's values for {count} {count:plural:item:items}?"),
    "city.confirm_bulk_city": ("对 {count} 项全部采用市级数值？",
                               "Keep the city's values for {count} {count:plural:item:items}?"),
    "city.bulk_done": ("已处理 {done}/{total} 项", "Resolved {done} of {total}"),
    "city.exported": ("已导出：{path}", "Exported: {path}"),
    "city.locked": ("已锁定：{county} {period}", "Locked: {county} {period}"),
    "city.reopened": ("已重新开放：{county} {period}，可修改至 {until}",
                      "Reopened: {county} {period}, editable until {until}"),
    "city.lock_title": ("锁定 {county} {period}：县区不能再修改该月月报。理由：",
                        "Lock {county} {period}: the county can no longer change that month's report. Why:"),
    "city.reopen_title": ("重新开放 {county} {period}：最后可修改日期与理由",
                          "Reopen {county} {period}: last day editable, and why"),
    "city.bad_date": ("日期应为 年-月-日（如 2025-03-15）", "The date must be YYYY-MM-DD"),
    "city.item_title": ("{county}  {table} {record}  {kind}", "{county}  {table} {record}  {kind}"),
    "city.merge_first": ("合并：保留先登记（{county}）的记录，另一条停用并注明",
                         "Merge: keep the first registration ({county}), retire the other"),
    "city.merge_later": ("合并：保留后登记（{county}）的记录，另一条停用并注明",
                         "Merge: keep the later registration ({county}), retire the other"),
    "city.keep_both": ("不合并：保留两条并注明", "Do not merge: keep both, with a note"),
    "city.take_both": ("各自保留", "each keeps its own"),
    "city.typed_value": ("为当前字段输入新值后回车", "Type a value for the current field, then Enter"),
    "city.value_box": ("输入值", "Typed value"),
    "city.value_box_for": ("输入值：{field}", "Typed value: {field}"),
    "city.reason_box": ("处理理由（必填）", "Reason (required)"),
    "city.reason_hint": ("写明为何这样处理，例如：电话回访核实", "Why this decision, e.g. checked by phone"),
    "city.reason": ("处理理由（必填）", "Reason (required)"),
    "city.reason_required": ("须填写处理理由", "A reason is required"),
    "city.take_city": ("服务器现值", "on the server"),
    "city.take_county": ("本次上传", "this upload"),
    "city.title": ("市科协管理", "City admin"),
    "city.kind_all": ("全部类型", "All kinds"),
    "city.page": ("第 {first}–{last} 项，共 {total} 项", "Items {first}–{last} of {total}"),
    "city.export_title": ("导出市级报表：文件路径（.xlsx）", "Export the city reports: file (.xlsx)"),
    "city.no_folder": ("文件夹不存在：{folder}", "No such folder: {folder}"),
    "city.upload_title": ("上传 {batch} 的逐条结果", "Per-record report of upload {batch}"),
    "city.help_queue": ("冲突队列：按姓名、身份证号、手机号搜索，按县区、表、类型筛选；回车打开一项逐字段处理；空格选择，Ctrl+K/Ctrl+J "
                        "批量采用县级/市级数值（须填理由并确认）。光标移过本页末尾时自动载入下一页。"
                        "Ctrl+O 已处理（审计记录），Ctrl+G 各县概况，Ctrl+E 导出冲突记录（待处理和已处理）。",
                        "Conflict queue: search by name, ID number or mobile, filter by county, table and kind; Enter "
                        "opens an item to decide per field; "
                        "Space selects, Ctrl+K / Ctrl+J take the county's / the city's values for the selection "
                        "(a reason and a confirmation are asked). Moving past the page's end loads the next page. "
                        "Ctrl+O resolved items (the audit trail), Ctrl+G counties at a glance, Ctrl+E exports the "
                        "conflict log (open and resolved)."),
    "city.help_uploads": ("上传记录：每次同步和导入的同步包，注明设备（编号末8位和登记名称）和令牌名称；回车查看逐条结果。",
                          "Uploads: every sync and imported bundle with its device (the node id's last 8 characters "
                          "and its enrolled label) and token label; Enter shows its per-record report."),
    "city.help_reports": ("市级报表：各县区逐月月报（√ 按时、逾期、未报、待报；默认含本月），完整率与及时率按服务器收到时间计算；"
                          "Ctrl+L 锁定光标所在县区的该月（只此一格），Ctrl+U 重新开放并填写最后可修改日期，"
                          "Ctrl+E 导出Excel。",
                          "City reports: each county's monthly reports (√ on time, late, missing, pending; the "
                          "month in progress included by default); "
                          "completeness and timeliness count by the time the server received a report. Ctrl+L "
                          "locks the county and month under the cursor (that cell only), Ctrl+U reopens it until "
                          "a day you give, Ctrl+E exports to Excel."),
    "city.help_item": ("逐字段选择：空格在 服务器现值 → 本次上传 → 输入值 之间切换（重复人员：先登记 → 后登记）；"
                       "在下方输入框为当前字段输入新值后回车；填写理由后 Ctrl+S 保存。",
                       "Per field: Space switches on the server → this upload → typed value (a duplicate "
                       "person: registered first → later); type a value for the current field below and press "
                       "Enter; give a reason, then Ctrl+S saves."),
    "city.help_duplicate": ("同一证件号码的人在两个县区登记：左右两列是两条记录（先登记/后登记、县区、单位、登记日期）。"
                            "在下拉框选择合并保留哪一条，或不合并保留两条；合并时对有差异的字段按空格选用哪一边的值或输入新值。"
                            "填写理由后 Ctrl+S 保存。",
                            "One ID number registered by two counties: the two columns are the two records "
                            "(registered first / later, county, unit, registration day). Choose which record to "
                            "keep when merging, or keep both; when merging, Space picks which side's value each "
                            "differing field takes, or type a new one. Give a reason, then Ctrl+S saves."),
    "city.help_form": ("填写后回车或 Ctrl+S 确定，Esc 取消。", "Enter or Ctrl+S confirms, Esc cancels."),
    # Why an upload's record ended as it did (the server's reason codes)
    "why.inserted": ("新增", "new record"),
    "why.fast_forward": ("直接更新", "updated"),
    "why.same_value": ("值相同", "same value"),
    "why.merged": ("合并不同字段", "different fields merged"),
    "why.superseded": ("已有更新的版本", "a newer version is on the server"),
    "why.forbidden": ("无权写入", "not allowed"),
    "why.invalid": ("数据有误", "invalid data"),
    "why.county_change": ("不能改属其他县区", "cannot move to another county"),
    "why.natural_key": ("已被其他县区的记录占用", "key held by another county's record"),
    "why.constraint": ("违反数据库约束", "breaks a database constraint"),
    "why.city_owned": ("由市级维护", "kept by the city"),
    "why.missing_reference": ("引用的记录不存在", "refers to a missing record"),
    "why.period_locked": ("该月已锁定", "month locked"),
    "why.rule": ("不符合业务规则", "breaks a rule"),
    "kind.field_conflict": ("字段冲突", "field conflict"),
    "kind.delete_vs_edit": ("删除与修改冲突", "delete vs edit"),
    "kind.edit_vs_delete": ("修改与删除冲突", "edit vs delete"),
    "kind.duplicate_person": ("跨县重复人员", "duplicate person"),
    "kind.dissolved_team": ("已解散队伍的活动", "activity of a dissolved team"),
    # Exports from the lists (Ctrl+O)
    "action.export_roster": ("导出名册", "Export roster"),
    "action.export_teams": ("导出队伍表", "Export teams form"),
    "action.export_activities": ("导出活动台账", "Export activity ledger"),
    "action.export_monthly": ("导出月报表", "Export monthly form"),
    "action.export_certificate": ("导出服务证明", "Export certificate"),
    "export.path": ("保存到文件（.xlsx）", "Save to file (.xlsx)"),
    "export.path_required": ("请填写文件路径", "Enter a file path"),
    "export.unmasked": ("导出完整证件号码（不脱敏）", "Write full ID numbers (unmasked)"),
    "export.confirm_unmasked": ("文件将包含完整的证件号码，确定导出？", "The file will contain full ID numbers. Export it?"),
    "export.written": ("已导出：{path}", "Exported: {path}"),
    "export.failed": ("导出失败：{error}", "Export failed: {error}"),
    "export.file_roster": ("志愿者名册-{day}", "volunteer-roster-{day}"),
    "export.file_teams": ("科技志愿服务队基本情况表-{day}", "teams-form-{day}"),
    "export.file_activities": ("活动台账-{period}", "activity-ledger-{period}"),
    "export.file_monthly": ("月报表-{period}", "monthly-report-{period}"),
    "export.file_certificate": ("志愿服务记录证明-{name}", "service-certificate-{name}"),
    # Excel import and export (F10)
    "action.excel": ("导入导出", "Import & export"),
    "action.check_import": ("检查文件", "Check file"),
    "action.import_all": ("导入", "Import"),
    "action.import_valid": ("只导入有效行", "Import valid rows"),
    "action.export_file": ("导出", "Export"),
    "xl.title": ("Excel导入导出", "Excel import & export"),
    "xl.import_title": ("导入志愿者名册", "Import a volunteer roster"),
    "xl.file_placeholder": ("名册文件路径（.xlsx），回车检查", "Roster file (.xlsx), Enter checks it"),
    "xl.dup_skip": ("已登记的跳过", "Skip volunteers already registered"),
    "xl.dup_update": ("已登记的更新", "Update volunteers already registered"),
    "xl.checking": ("正在检查…", "Checking…"),
    "xl.no_file": ("请先输入名册文件路径并回车检查", "Enter a roster file and press Enter to check it first"),
    "xl.col_row": ("行", "Row"),
    "xl.col_column": ("列", "Column"),
    "xl.col_header": ("列名", "Header"),
    "xl.col_problem": ("问题", "Problem"),
    "xl.has_problems": ("文件有问题，不能全部导入；改正后重新检查，或只导入有效行",
                        "The file has problems: fix them and check again, or import the valid rows only"),
    "xl.confirm_import": ("确定导入：新增{inserts}，更新{updates}，跳过{skips}？",
                          "Import: {inserts} new, {updates} updated, {skips} skipped?"),
    "xl.export_title": ("导出报表和名单", "Export forms and lists"),
    "xl.folder_placeholder": ("导出到文件夹", "Folder to write to"),
    "xl.month_placeholder": ("期间：年-月 或 年（可空）", "Period YYYY-MM or YYYY (optional)"),
    "xl.kind_teams": ("附件2 队伍基本情况表", "Annex 2: teams"),
    "xl.kind_monthly": ("月报表", "Monthly report"),
    "xl.kind_roster": ("志愿者名册（证件号脱敏）", "Volunteer roster (IDs masked)"),
    "xl.kind_activities": ("活动台账", "Activity ledger"),
    "xl.kind_hours": ("服务时长公示名单", "Hours publicity list"),
    "xl.kind_template": ("空白名册模板", "Blank roster template"),
    "xl.exported": ("已导出：{path}", "Exported: {path}"),
    "help.excel": ("输入名册文件路径并回车：列出每个问题（行、列、原因），确认无误后再导入；有问题时默认不导入，"
                   "也可只导入有效行。已登记的志愿者（证件号码相同，或姓名和手机号相同）按所选跳过或更新。"
                   "下方选择报表种类、期间和文件夹后导出。",
                   "Enter a roster file and press Enter: every problem is listed (row, column, reason) before "
                   "anything is written. With problems nothing is imported unless you import the valid rows only. "
                   "Volunteers already registered (same ID number, or same name and mobile) are skipped or updated "
                   "as chosen. Below, pick a form, a period and a folder to export."),
    "result.applied": ("已应用", "applied"),
    "result.merged": ("已合并", "merged"),
    "result.conflict": ("冲突", "conflict"),
    "result.duplicate": ("重复", "duplicate"),
    "result.rejected": ("拒绝", "rejected"),
}

_current = ["zh"]


def use_language(lang: str) -> None:
    """Switch the catalogue's language for the whole TUI."""
    _current[0] = lang if lang in LANGUAGES else "zh"


def language() -> str:
    return _current[0]


class _Formatter(string.Formatter):
    """``str.format`` plus plurals for English: ``{count:plural:item:items}`` is "item" for 1, else "items"."""

    def format_field(self, value: object, format_spec: str) -> str:
        if format_spec.startswith("plural:"):
            one, many = format_spec.removeprefix("plural:").split(":", 1)
            return one if value == 1 else many
        return super().format_field(value, format_spec)


_FORMATTER = _Formatter()


def t(key: str, /, **values: object) -> str:
    """The text for ``key`` in the current language, with ``values`` filled in."""
    zh, en = CATALOGUE[key]
    text = en if _current[0] == "en" else zh
    return _FORMATTER.format(text, **values) if values else text


_BILINGUAL = re.compile(r"^(?P<zh>.*[\u4e00-\u9fff].*?)\s*[(（](?P<en>[^()（）]*[A-Za-z][^()（）]*)[)）]\s*$", re.S)


def in_language(message: str) -> str:
    """A message the sync layer wrote in both languages (``中文 (English)``) in the current one only."""
    found = _BILINGUAL.match(message.strip())
    if not found:
        return message
    return found["en"].strip() if _current[0] == "en" else found["zh"].strip()


def labelled(name: str, value: object) -> str:
    """``name：value`` in Chinese, ``name: value`` in English."""
    return f"{name}：{value}" if _current[0] != "en" else f"{name}: {value}"


def label(member: LabeledEnum | None) -> str:
    """An enum member's label in the current language ("" for none)."""
    return member.label(_current[0]) if member is not None else ""


def enum_label(kind: type[LabeledEnum], code: str | None) -> str:
    """The label of a stored code, or the code itself when it is not (or no longer) in the list."""
    if not code:
        return ""
    try:
        return kind(code).label(_current[0])
    except ValueError:
        return code


def enum_list_label(kind: type[LabeledEnum], codes: str) -> str:
    """Comma-separated stored codes as labels joined with 、."""
    return "、".join(enum_label(kind, code) for code in codes.split(",") if code)
