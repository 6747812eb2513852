"""gpt4free 0.5.2.9's own OpenAI-compatible API server, with its FakeGpt
provider pointed at the emulator at URL, listening on 127.0.0.1:PORT.

usage: python g4f_api.py URL PORT
"""

import sys

import g4f.api
from g4f.Provider.deprecated import FakeGpt

url, port = sys.argv[1], int(sys.argv[2])
FakeGpt.url = url
# The provider is marked as not working since its public service went away.
FakeGpt.working = True
g4f.api.AppConfig.set_config(provider="FakeGpt")
g4f.api.run_api(host="127.0.0.1", port=port)
