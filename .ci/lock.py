"""Print constraints.txt for the environment of the Python given as argv[1] (``make lock``).

The build tools (pip, setuptools, wheel) come first, since pip's isolated build
environments take them from the same file; rgdata itself is left out.
"""

import subprocess
import sys

HEADER = """\
# Tested versions for Python 3.11 (regenerate with `make lock`). make test / make report /
# CI install exactly these; `make test-latest` tries the newest versions setup.cfg allows."""
BUILD = ("pip", "setuptools", "wheel")


def main(python: str) -> None:
    frozen = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze"], check=True, capture_output=True, text=True
    ).stdout.split()
    pins = {line.split("==")[0].lower(): line for line in frozen if "==" in line}
    pins.pop("rgdata", None)
    print(HEADER)
    for name in BUILD:
        if name in pins:
            print(pins.pop(name))
    for name in sorted(pins):
        print(pins[name])


if __name__ == "__main__":
    main(sys.argv[1])
