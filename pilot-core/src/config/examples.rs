//! A complete, valid `config.vpspilot.json` for each app type: starting points
//! for new apps and the examples the documentation shows.

use super::model::AppType;

/// The example config of `app_type`, as pretty-printed JSON text.
pub fn example(app_type: AppType) -> &'static str {
    match app_type {
        AppType::Laravel => LARAVEL,
        AppType::Nodejs => NODEJS,
        AppType::Go => GO,
        AppType::Python => PYTHON,
        AppType::Django => DJANGO,
        AppType::Static => STATIC,
        AppType::Ruby => RUBY,
        AppType::Custom => CUSTOM,
    }
}

const LARAVEL: &str = r#"{
  "name": "My Laravel App",
  "type": "laravel",
  "runtime": {
    "php": "8.2",
    "node": "20"
  },
  "build": {
    "commands": [
      "composer install --no-dev",
      "npm install",
      "npm run build"
    ]
  },
  "start": {
    "command": "php artisan serve --host=0.0.0.0 --port=$PORT"
  },
  "env": {
    "APP_ENV": "production",
    "DB_PASSWORD": "{{DB_PASSWORD}}",
    "API_KEY": "{{API_KEY}}"
  }
}
"#;

const NODEJS: &str = r#"{
  "name": "My Node App",
  "type": "nodejs",
  "runtime": {
    "node": "20"
  },
  "build": {
    "commands": ["npm ci", "npm run build"]
  },
  "start": {
    "command": "node dist/server.js"
  },
  "test": {
    "command": "npm test"
  },
  "deployment": {
    "healthcheck_url": "http://localhost:3000/health",
    "healthcheck_interval": 10,
    "healthcheck_timeout": 5,
    "healthcheck_retries": 3
  }
}
"#;

const GO: &str = r#"{
  "name": "My Go Service",
  "type": "go",
  "runtime": {
    "go": "1.21"
  },
  "build": {
    "commands": ["go build -o bin/server ./cmd/server"]
  },
  "start": {
    "command": "./bin/server"
  },
  "resources": {
    "memory": "256M",
    "cpu": 0.5
  }
}
"#;

const PYTHON: &str = r#"{
  "name": "My Python API",
  "type": "python",
  "runtime": {
    "python": "3.11"
  },
  "build": {
    "commands": ["pip install -r requirements.txt"]
  },
  "start": {
    "command": "gunicorn app:app --bind 0.0.0.0:$PORT"
  },
  "env": {
    "DATABASE_URL": "postgresql://app:{{DB_PASSWORD}}@localhost/app"
  }
}
"#;

const DJANGO: &str = r#"{
  "name": "My Django Site",
  "type": "django",
  "runtime": {
    "python": "3.11"
  },
  "build": {
    "commands": [
      "pip install -r requirements.txt",
      "python manage.py collectstatic --noinput"
    ]
  },
  "start": {
    "command": "gunicorn mysite.wsgi --bind 0.0.0.0:$PORT"
  },
  "test": {
    "command": "python manage.py test"
  },
  "env": {
    "DJANGO_SECRET_KEY": "{{DJANGO_SECRET_KEY}}"
  }
}
"#;

const STATIC: &str = r#"{
  "name": "My Static Site",
  "type": "static",
  "runtime": {
    "node": "20"
  },
  "build": {
    "commands": ["npm ci", "npm run build"]
  },
  "start": {
    "command": "npx serve dist --listen $PORT"
  },
  "deployment": {
    "strategy": "in-place",
    "healthcheck_path": "/"
  }
}
"#;

const RUBY: &str = r#"{
  "name": "My Rails App",
  "type": "ruby",
  "runtime": {
    "ruby": "3.2"
  },
  "build": {
    "commands": ["bundle install", "bundle exec rake assets:precompile"]
  },
  "start": {
    "command": "bundle exec puma -p $PORT"
  },
  "env": {
    "RAILS_ENV": "production",
    "SECRET_KEY_BASE": "{{SECRET_KEY_BASE}}"
  },
  "port": 8080
}
"#;

const CUSTOM: &str = r#"{
  "name": "My Custom App",
  "type": "custom",
  "nix": {
    "flake_file": "./flake.nix"
  },
  "start": {
    "command": "./result/bin/app"
  },
  "deployment": {
    "strategy": "blue-green",
    "healthcheck_type": "tcp",
    "healthcheck_start_period": 120,
    "watch_seconds": 60,
    "drain_seconds": 15,
    "keep_generations": 3,
    "warm_standby": true
  }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_is_a_valid_config_of_its_type() {
        for app_type in AppType::ALL {
            let config = crate::config::parse(example(app_type))
                .unwrap_or_else(|e| panic!("example of {app_type}: {e}"));
            assert_eq!(config.app_type, app_type);
        }
    }
}
