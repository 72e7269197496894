"""Reinforcement learning with SB3: training, the VecEnv adapter, callbacks, hyperparameters."""
