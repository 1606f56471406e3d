package main

import "errors"

// errNotImplemented is returned by subcommands whose issue has not landed yet.
var errNotImplemented = errors.New("not implemented yet")
