"""The batch runner from a clone of the repository under any folder name: `python3 tools/batch.py jobs.csv`.

The same as `python3 -m cloud_removal.batch` (which needs the plugin folder to be called cloud_removal and its parent
on the Python path); options: `python3 tools/batch.py --help`.
"""

import os
import runpy

if __name__ == "__main__":
    runpy.run_path(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "batch.py"),
                   run_name="__main__")
