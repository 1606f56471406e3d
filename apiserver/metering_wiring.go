package apiserver

import (
	"context"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/config"
	"github.com/llmplatform/llmplatform/apiserver/httpapi"
	"github.com/llmplatform/llmplatform/apiserver/metering"
	"github.com/llmplatform/llmplatform/apiserver/service"
)

// buildMetering starts the meter (quotas and usage records, one per provider call, for the chat and /v1)
// and returns the API of tokens, usage statistics, /internal/v1 and /v1.
func (s *Server) buildMetering(ctx context.Context) (*httpapi.MeteringAPI, error) {
	var err error
	s.Meter, err = metering.New(ctx, s.DB, func() *config.Config { return s.Settings.Current().Config },
		metering.Options{Log: s.log, Registerer: s.Metrics.Registry})
	if err != nil {
		return nil, err
	}
	s.Usage = service.NewUsage(s.DB, s.Meter)
	return &httpapi.MeteringAPI{Tokens: service.NewAPITokens(s.DB), Usage: s.Usage,
		OpenAI: service.NewOpenAI(s.Registry, s.Meter), Settings: s.Settings.Current}, nil
}

// closeMeter writes the usage records still queued, for at most 30 s; Close calls it before closing the
// database.
func (s *Server) closeMeter(ctx context.Context) {
	if s.Meter == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.Meter.Close(ctx); err != nil {
		s.log.Error("Writing the last usage records failed", "error", err)
	}
}
