// /ajax-api/2.0/mlflow/* — the same API under MLflow's UI prefix
export { GET, POST, PATCH, DELETE } from "@/app/api/2.0/mlflow/[...path]/route";
