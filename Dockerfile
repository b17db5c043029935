# Payambar: one process, one SQLite file in /data (mount a volume there); or, with DATABASE_URL
# and REDIS_URL set, any number of instances (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8000 \
    DATABASE_URL=sqlite:////data/payambar.db \
    ENVIRONMENT=production

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

RUN useradd --system --uid 10001 payambar && mkdir -p /data && chown payambar /data
USER payambar
VOLUME /data
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ['PORT'])"

# Exactly the Procfile's web: line, so every way of running it starts the same server.
CMD ["sh", "-c", "eval \"exec $(sed -n 's/^web: //p' Procfile)\""]
