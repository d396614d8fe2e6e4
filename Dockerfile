# vAIn node image: `docker build -t vain-node .` then
#   docker run -v vain-data:/data -e VAIN_PASSWORD_FILE=... -p 4001:4001 -p 8080:8080 vain-node \
#     start --data-dir /data --listen /ip4/0.0.0.0/tcp/4001 --api-port 8080
FROM node:22-bookworm-slim
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
COPY node/package.json node/package.json
RUN npm ci --no-audit --no-fund
COPY . .
RUN useradd --system --home /data vain && mkdir -p /data && chown vain /data
USER vain
VOLUME ["/data"]
EXPOSE 4001 8080
ENTRYPOINT ["node", "node/bin/vain-node.js"]
CMD ["start", "--data-dir", "/data", "--listen", "/ip4/0.0.0.0/tcp/4001", "--api-port", "8080"]
