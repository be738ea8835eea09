# Two commands for a fresh clone:
#   make run    start the service (SQLite, local gateway, demo region) and print the simulator address
#               (make run PORT=5001 HOST=0.0.0.0: another port or interface; PORT/HOST from the environment too)
#   make test   run the whole test suite (set TEST_DATABASE_URL to also run it on PostgreSQL)
#   make demo-reset   put the demo region back as it was (trainers, between sessions; wipes all data)
# and, while working: make test-fast   (SQLite only, without the tests marked slow)
VENV ?= .venv
PYTHON ?= python3
# pytest-xdist workers; WORKERS=0 runs the tests in one process (e.g. to use pdb)
WORKERS ?= 3
XDIST = -n $(WORKERS) --dist worksteal

.PHONY: run demo-reset test test-fast test-at install

# the demo region's staff accounts (service/demo.py STAFF_ACCOUNTS) carry phones: the simulator's
# "staff" quick pick sends SETPRICE, ALERT, OFFER and ANSWER as one of them

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/flask --app service demo-data --if-empty
	$(VENV)/bin/flask --app service serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

# between two training sessions: wipe EVERYTHING in the database and create the demo region afresh
demo-reset: $(VENV)/.installed
	$(VENV)/bin/flask --app service demo-data --reset

test: $(VENV)/.installed
	$(VENV)/bin/pytest $(XDIST) $(ARGS)

# the local loop: SQLite only, without the tests that start processes or walk every screen
test-fast: $(VENV)/.installed
	TEST_DATABASE_URL= $(VENV)/bin/pytest $(XDIST) -m "not slow" $(ARGS)

# the whole suite on a simulated wall clock shared by every process it starts, e.g.
#   make test-at AT=2026-12-01T22:30+05:00     (22:30 in Dushanbe)
test-at: $(VENV)/.installed
	TEST_CLOCK_AT=$(AT) TEST_CLOCK_BASE=$$(date +%s) PYTHONPATH=tests/clock $(VENV)/bin/pytest $(XDIST) $(ARGS)
