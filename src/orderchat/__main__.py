import sys

from orderchat.cli import main

sys.exit(main())
