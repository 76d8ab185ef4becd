import sys

from jimu.cli import main

sys.exit(main())
