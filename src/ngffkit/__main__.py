import sys

from ngffkit.cli.main import main

sys.exit(main())
