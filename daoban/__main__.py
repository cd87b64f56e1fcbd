import sys

from daoban.cli import main

sys.exit(main())
