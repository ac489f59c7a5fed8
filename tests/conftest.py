# Make the collection importable as ansible_collections.wifibox.bhyve from the
# work tree: scripts/bootstrap links .cache/collections/ansible_collections/wifibox/bhyve
# to the repository root; create the link here too for a bare `pytest` run.
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, '.cache', 'collections')
_LINK = os.path.join(COLLECTIONS, 'ansible_collections', 'wifibox', 'bhyve')

if not os.path.islink(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    os.symlink(os.path.join('..', '..', '..', '..'), _LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
