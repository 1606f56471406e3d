package main

import "context"

func runMockProvider(context.Context, []string) error { return errNotImplemented }
