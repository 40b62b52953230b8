FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev
ENV NODE_ENV=production
# The application never needs root: the image's files stay root-owned and read-only to it.
USER node
ENTRYPOINT ["node", "bin/inventory-sync.js"]
