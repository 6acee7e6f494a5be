from augment_core.cli import main

raise SystemExit(main())
