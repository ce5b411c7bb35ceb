"""The Puppet-style status service (trapperkeeper-status 1.2): a registry of per-subsystem status
callbacks, detail levels, state aggregation, and the process metrics behind `status-service`."""
