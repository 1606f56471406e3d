package main

import "context"

func runAPIServer(context.Context, []string) error { return errNotImplemented }
