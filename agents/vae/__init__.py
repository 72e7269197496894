"""The patient VAE: model, training data, training and VAE-based dosing."""
