"""The live pipeline: a Faust worker driving the pure core from Kafka."""
