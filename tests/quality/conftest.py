# The quality gates share collection_tree.py; pytest's importlib mode does not
# put a test's own directory on sys.path, so do it here.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
