.PHONY: setup train test
setup:
	bash scripts/setup.sh
train:
	bash scripts/train.sh
test:
	bash scripts/test.sh
