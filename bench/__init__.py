"""Bastion's benchmarks: micro-benchmarks and broker scenarios against Mosquitto and amqtt."""
