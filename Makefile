# The two commands of the README, and the benchmarks.
.PHONY: demo test bench dist install-test docs
demo:
	bash scripts/demo.sh
test:
	bash scripts/test-all.sh
bench:
	bash scripts/bench.sh
# The artefacts a release would publish (wheel, sdist, npm tarballs) into dist/, and the
# install test: each installed from dist/ with no Rust toolchain on PATH, then a journey.
dist:
	bash scripts/dist.sh
install-test:
	bash scripts/test/install.sh
# The API reference of each language (rustdoc, pdoc, TypeDoc; warnings denied) into
# target/docs/{rust,python,node,wasm}; the tools: scripts/setup/docs.sh.
docs:
	bash scripts/setup/docs.sh
	bash scripts/docs.sh
