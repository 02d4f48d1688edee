module annal.example/interop/go-note

go 1.24

require golang.org/x/mod v0.26.0
