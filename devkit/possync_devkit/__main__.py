from possync_devkit.cli import main

raise SystemExit(main())
