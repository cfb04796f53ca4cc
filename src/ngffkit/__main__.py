import sys

from ngffkit.cli import main

sys.exit(main())
