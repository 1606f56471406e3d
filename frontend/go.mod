module github.com/llmplatform/llmplatform/frontend

go 1.26.0
