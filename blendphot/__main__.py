import sys

from blendphot.cli import main

sys.exit(main())
