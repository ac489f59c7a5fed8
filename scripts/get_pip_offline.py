# Stand-in for get-pip.py, installed by wifibox.bhyve's scripts/bootstrap into
# ~/.ansible/test/cache/ so that ansible-test can build its sanity venvs offline.
# ansible-test runs it as "python get_pip.py [pip args]" inside a new venv: bootstrap
# pip from the interpreter's own ensurepip, then hand the arguments to pip.
import subprocess
import sys

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'])
args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
if args:
    subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)
