package main

import (
	"context"
	"errors"
)

// errNotImplemented is returned by subcommands whose issue has not landed yet.
var errNotImplemented = errors.New("not implemented yet")

func runOperator(context.Context, []string) error     { return errNotImplemented }
func runAPIServer(context.Context, []string) error    { return errNotImplemented }
func runMockProvider(context.Context, []string) error { return errNotImplemented }
