"""``python -m cyclone.skel -p foobar``: create a new cyclone project."""

import sys

from cyclone.skel import main

sys.exit(main())
