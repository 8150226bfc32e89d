"""``python -m cyclone.app -p foobar``: the old cyclone name of the project generator.

    python -m cyclone.app -p foobar
    cd foobar
    twistd -n foobar

Same options as ``python -m cyclone.skel``, which is the new name.
"""

import sys

from cyclone.skel import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m cyclone.app"))
