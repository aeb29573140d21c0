# The possync image: Airflow's official image of the pinned version, with possync's pinned requirements and
# the project itself (package, DAGs, plugin, integration settings) under /opt/possync. Two stages:
#
#   production   possync only: what runs against the real Jurnal, Accurate, POS and head office
#   demo         production plus the development kit (devkit/: the Jurnal and Accurate sandboxes, the demo POS
#                generator, the head-office simulator), for docker-compose.yaml's `demo` profile only
#
#   docker compose build            (docker-compose.yaml builds production as ${AIRFLOW_IMAGE_NAME} and demo
#                                    as ${AIRFLOW_IMAGE_NAME}-demo)
#
# The Airflow version here, the image tag in docker-compose.yaml and apache-airflow in requirements.txt must
# agree; tests/test_deploy.py checks that they do.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION} AS production

ARG AIRFLOW_VERSION
# Folders the compose file mounts named volumes on: a new volume takes their owner, so the airflow user can write.
USER root
RUN mkdir -p /opt/possync/var/sandbox /opt/airflow/auth \
 && chown -R airflow:0 /opt/possync /opt/airflow/auth
USER airflow

# Installing "apache-airflow==<version>" alongside keeps pip from up- or downgrading the image's Airflow.
COPY --chown=airflow:0 requirements.txt /opt/possync/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /opt/possync/requirements.txt

COPY --chown=airflow:0 pyproject.toml README.md /opt/possync/
COPY --chown=airflow:0 include /opt/possync/include
RUN pip install --no-cache-dir --no-deps /opt/possync
COPY --chown=airflow:0 dags /opt/possync/dags
COPY --chown=airflow:0 plugins /opt/possync/plugins
COPY --chown=airflow:0 deploy /opt/possync/deploy

WORKDIR /opt/possync

# The demo stage: the devkit's dependencies (FastAPI, uvicorn, SQLAlchemy, pydantic) are already in
# requirements.txt, so --no-deps keeps the pinned versions.
FROM production AS demo
COPY --chown=airflow:0 devkit /opt/possync/devkit
RUN pip install --no-cache-dir --no-deps /opt/possync/devkit
