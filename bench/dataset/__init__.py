"""The benchmark's data set, made by bench/generate.py (`make bench-data`)."""
