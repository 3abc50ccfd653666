from stvs_tui.cli import main

main()
