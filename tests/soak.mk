# tests/soak: `make soak` runs many transfers of random files and scripts
# through the faulty line (build/faultline) at several fault rates against
# both simulated boards, checks each one over a clean link and prints a
# table (also build/soak/soak.md). tests/soak/short.test is its short form
# in `make test`. See tests/soak/soak.py.

SOAK_N ?= 1000
# Transfers per configuration for the script kinds (mpy, src); default SOAK_N.
SOAK_N_RUN ?= $(SOAK_N)
SOAK_RATES ?= 0 1e-4 1e-3
SOAK_SEED ?= 1
SOAK_BOARDS ?= sim-board,sim-board-upstream
SOAK_KINDS ?= put,mpy,src
SOAK_JOBS ?= 8
SOAK_SHARDS ?= 4
SOAK_OUT ?= $(B)/soak

.PHONY: soak
soak: $(B)/mpupload $(B)/faultline $(B)/sim-board $(B)/sim-board-upstream $(PYTHON_STAMP)
	$(Q)$$(cat $(PYTHON_STAMP)) tests/soak/soak.py --n $(SOAK_N) --n-run $(SOAK_N_RUN) --rates "$(SOAK_RATES)" \
		--seed $(SOAK_SEED) --boards $(SOAK_BOARDS) --kinds $(SOAK_KINDS) \
		--jobs $(SOAK_JOBS) --shards $(SOAK_SHARDS) --out $(SOAK_OUT)
