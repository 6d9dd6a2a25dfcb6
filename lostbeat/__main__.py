from __future__ import annotations

from lostbeat.cli import main

raise SystemExit(main())
