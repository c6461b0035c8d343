"""Entry point of the frozen app: the ``explorer`` command, made safe for multiprocessing.

The UMAP layout is computed in a child process started with ``spawn``. In a frozen app the
child is this same executable, started with multiprocessing's own arguments;
``freeze_support()`` turns such a start into the child's work instead of a second app.
"""

import multiprocessing

from explorer.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    main()
