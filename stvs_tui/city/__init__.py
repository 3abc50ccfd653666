"""The city admin (市科协): uploads, the conflict queue, bundles, city-wide reports (``stvs-tui city``)."""
