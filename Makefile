# The two commands a fresh machine needs: `make run` and `make test`.
# Everything is installed into .venv from the pinned requirements.txt.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install browser mailserver lint check clean

install: $(STAMP)

$(STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "Vouch needs $(PYTHON) on PATH"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# Browser tests drive Debian's chromium (Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null || { \
		echo "Installing Debian chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The IMAP poller's tests read from Debian's dovecot, which they start on loopback
# with a configuration of their own (the package's own service is not started).
mailserver:
	@command -v dovecot >/dev/null || test -x /usr/sbin/dovecot || { \
		echo "Installing Debian dovecot-imapd for the IMAP tests"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq dovecot-imapd >/dev/null; }

run: install
	$(PY) -m reviewapp.runtime.runstack

test: install browser mailserver
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

check: install
	$(PY) manage.py check --deploy --fail-level ERROR

clean:
	rm -rf $(VENV) var
