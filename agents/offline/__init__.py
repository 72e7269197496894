"""Offline RL and off-policy evaluation on pkgym: behaviour policies, Minari datasets, ....

``behaviour`` (stochastic clinicians) and ``dataset`` (batched Minari datasets) write the data;
the estimators and the offline learners read it (see ``docs/offline.md``).
"""
