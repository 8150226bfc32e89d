"""Generate a new project with cyclone-skel and list what it wrote."""

import os
import sys

from cyclone.skel import generate

path = generate("foobar", modname="foobar", version="0.1", target=sys.argv[1])
for directory, _, files in sorted(os.walk(path)):
    for name in sorted(files):
        print(os.path.relpath(os.path.join(directory, name), path))
