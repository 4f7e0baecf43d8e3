# The two commands of the README, and the benchmarks.
.PHONY: demo test bench
demo:
	bash scripts/demo.sh
test:
	bash scripts/test-all.sh
bench:
	bash scripts/bench.sh
