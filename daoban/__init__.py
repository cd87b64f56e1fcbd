"""Daoban (导办): the service-guide assistant's shared plumbing: settings, command line, process runner."""
