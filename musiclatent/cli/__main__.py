import sys

from musiclatent.cli.main import main

sys.exit(main())
