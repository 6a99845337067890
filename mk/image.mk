# Container image (docs/deploy.md). No base image is pulled: the static
# binary is built on the host, as `make build` builds it, and copied with
# the host's CA bundle into a FROM scratch image.

CONTAINER ?= $(shell command -v podman >/dev/null && echo podman || echo docker)
IMAGE     ?= pgtenant:$(VERSION)
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt

.PHONY: image image-check

image: ## Build the container image $(IMAGE): static bin/server FROM scratch, non-root, CA certificates ($(CONTAINER))
	@test -s "$(CA_BUNDLE)" || { echo "no CA bundle at $(CA_BUNDLE) (Debian: apt-get install ca-certificates; or CA_BUNDLE=path)"; exit 1; }
	@rm -rf .image && mkdir -p .image
	@echo "go build -trimpath -o .image/server ./cmd/server   # CGO_ENABLED=0, $(VERSION) $(REVISION)"
	@CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o .image/server ./cmd/server
	cp "$(CA_BUNDLE)" .image/ca-certificates.crt
	$(CONTAINER) build --quiet -f Containerfile --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) -t $(IMAGE) .image

# image-check reads the built image back: its user, entrypoint and command,
# and the binary inside, copied out and run on the host (this sandbox
# cannot run containers), which must report this build's revision.
image-check: ## Check the built image: numeric non-root user, entrypoint /server, the binary inside reports this revision
	@set -e; img="$(IMAGE)"; \
	user=$$($(CONTAINER) image inspect --format '{{.Config.User}}' "$$img"); \
	entry=$$($(CONTAINER) image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$$img"); \
	echo "user: $$user"; echo "entrypoint, cmd: $$entry"; \
	case "$$user" in ''|0|0:*|root|root:*) echo "FAIL: the image runs as root"; exit 1;; esac; \
	echo "$$user" | grep -Eq '^[0-9]+(:[0-9]+)?$$' || { echo "FAIL: user $$user is not numeric"; exit 1; }; \
	[ "$$entry" = '["/server"] ["serve"]' ] || { echo "FAIL: entrypoint/cmd $$entry"; exit 1; }; \
	tmp=$$(mktemp -d); cid=$$($(CONTAINER) create "$$img"); \
	trap '$(CONTAINER) rm -f '"$$cid"' >/dev/null; rm -rf '"$$tmp" EXIT; \
	$(CONTAINER) cp "$$cid:/server" "$$tmp/server"; \
	$(CONTAINER) cp "$$cid:/etc/ssl/certs/ca-certificates.crt" "$$tmp/ca.crt"; \
	test -s "$$tmp/ca.crt" || { echo "FAIL: no CA certificates in the image"; exit 1; }; \
	"$$tmp/server" version | tee "$$tmp/version"; \
	grep -qx "revision $(REVISION)\( (modified)\)\?" "$$tmp/version" || { echo "FAIL: the binary does not report revision $(REVISION)"; exit 1; }; \
	file "$$tmp/server" 2>/dev/null | grep -q "statically linked" || { echo "FAIL: not a static binary"; exit 1; }; \
	echo "image $$img: ok ($$(du -h "$$tmp/server" | cut -f1) binary)"
