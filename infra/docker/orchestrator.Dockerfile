# syntax=docker/dockerfile:1
# SsbTomo.Orchestrator — build context is the repository root:
#   docker build -f infra/docker/orchestrator.Dockerfile -t ssbtomo/orchestrator .
# The ignore file orchestrator.Dockerfile.dockerignore (next to this file) is used by BuildKit
# instead of a repo-root .dockerignore.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore layer: only the build props and the project files this service depends on,
# so that a source change does not invalidate the NuGet restore.
COPY Directory.Build.props Directory.Packages.props ./
COPY shared/SsbTomo.Contracts/SsbTomo.Contracts.csproj shared/SsbTomo.Contracts/SsbTomo.Contracts.csproj
COPY shared/SsbTomo.Imaging/SsbTomo.Imaging.csproj shared/SsbTomo.Imaging/SsbTomo.Imaging.csproj
COPY shared/SsbTomo.Storage/SsbTomo.Storage.csproj shared/SsbTomo.Storage/SsbTomo.Storage.csproj
COPY shared/SsbTomo.Hosting/SsbTomo.Hosting.csproj shared/SsbTomo.Hosting/SsbTomo.Hosting.csproj
COPY services/SsbTomo.Orchestrator/SsbTomo.Orchestrator.csproj services/SsbTomo.Orchestrator/SsbTomo.Orchestrator.csproj
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet restore services/SsbTomo.Orchestrator/SsbTomo.Orchestrator.csproj
# Sources (the ignore file keeps bin/obj, tests and data out of the context).
COPY shared/ shared/
COPY services/SsbTomo.Orchestrator/ services/SsbTomo.Orchestrator/
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish services/SsbTomo.Orchestrator/SsbTomo.Orchestrator.csproj -c Release -o /app --no-restore /p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# Native zstd for Zarr chunks (the managed fallback is ~2x slower; every image uses the same codec, so chunks are byte-identical across pods).
RUN apt-get update && apt-get install -y --no-install-recommends libzstd1 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_NOLOGO=1
COPY --from=build --chown=root:root /app ./
# The job store's SQLite file lives here (compose mounts a volume; a new named volume takes this owner).
RUN mkdir -p /var/lib/ssbtomo && chown "$APP_UID" /var/lib/ssbtomo
# Non-root: the 'app' user (UID 1654) that the .NET runtime images ship; Kubernetes pins the same UID.
USER $APP_UID
EXPOSE 8080
ENTRYPOINT ["dotnet", "SsbTomo.Orchestrator.dll"]
