package main

import "context"

func runOperator(context.Context, []string) error { return errNotImplemented }
