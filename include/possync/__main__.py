from possync.cli import main

raise SystemExit(main())
